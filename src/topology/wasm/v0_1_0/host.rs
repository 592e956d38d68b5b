//! The imports of `kyozo:detector@0.1.0` served to a plugin: each maps onto the
//! version-neutral host function of [`CallState`], which holds the budgets.

use super::kyozo::detector::{host, types};
use crate::topology::wasm::call::{CallState, ReadRefusal};

impl types::Host for CallState {}

impl host::Host for CallState {
    fn list_files(
        &mut self,
        glob: String,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<String>, String>> {
        CallState::list_files(self, glob, limit)
    }

    fn read_file(&mut self, path: String) -> wasmtime::Result<Result<String, host::ReadError>> {
        Ok(
            CallState::read_file(self, path)?.map_err(|refusal| match refusal {
                ReadRefusal::NotFound => host::ReadError::NotFound,
                ReadRefusal::TooLarge(size) => host::ReadError::TooLarge(size),
                ReadRefusal::Binary => host::ReadError::Binary,
                ReadRefusal::BudgetExhausted => host::ReadError::BudgetExhausted,
            }),
        )
    }

    fn log(&mut self, message: String) -> wasmtime::Result<()> {
        CallState::log(self, message)
    }
}
