//! Shared by the CLI's tests: the built `kyozo`, run without colours and without a state
//! file named by the environment.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::process::Command;

/// `kyozo`, to be given its arguments: `NO_COLOR` set, `KYOZO_STATE` unset.
pub fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kyozo"));
    c.env("NO_COLOR", "1").env_remove("KYOZO_STATE");
    c
}

/// Runs `kyozo ARGS`, returning its exit code, stdout and stderr.
pub fn kyozo(args: &[&str]) -> (i32, String, String) {
    let out = command().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}
