pub(crate) fn run(_s: &dyn super::Store) {}
