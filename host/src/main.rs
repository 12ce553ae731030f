//! `aci-host`: the command-line face of the host library (see `cli`).

fn main() {
    std::process::exit(aci_host::cli::main());
}
