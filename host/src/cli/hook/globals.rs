//! Global options written after `hook METHOD`.
//!
//! `hook`'s own arguments are captured raw (the method's flags are known only
//! once the component is loaded), so `aci-host hook exists --name g -v` would
//! hide `-v` from the top-level parser. [`hoist`] moves every global option
//! (as the clap definition of [`Cli`] declares them) in front of the method
//! and parses the command line again, so global options work anywhere, as
//! they do for the other commands.

use std::ffi::OsString;

use clap::{CommandFactory, Parser};

use super::super::args::{Cli, Command};

/// `cli` with the global options found among `hook`'s raw arguments applied.
pub fn hoist(cli: Cli, argv: &[OsString]) -> Cli {
    let Command::Hook(hook) = &cli.command else {
        return cli;
    };
    let (globals, rest) = split_globals(&hook.args);
    let Some(head_len) = argv.len().checked_sub(hook.args.len()) else {
        return cli;
    };
    let tail_is_hooks = argv[head_len..]
        .iter()
        .zip(&hook.args)
        .all(|(a, h)| a.to_str() == Some(h.as_str()));
    if globals.is_empty() || !tail_is_hooks {
        return cli;
    }
    let moved = globals.iter().chain(&rest).map(OsString::from);
    Cli::parse_from(argv[..head_len].iter().cloned().chain(moved))
}

/// Splits `args` into the global options (with their values) and the rest.
fn split_globals(args: &[String]) -> (Vec<String>, Vec<String>) {
    let cmd = Cli::command();
    let globals: Vec<&clap::Arg> = cmd.get_arguments().filter(|a| a.is_global_set()).collect();
    let takes_value = |a: &clap::Arg| a.get_action().takes_values();
    let by_long = |name: &str| globals.iter().find(|a| a.get_long() == Some(name)).copied();
    let (mut found, mut rest) = (Vec::new(), Vec::new());
    let mut tokens = args.iter();
    while let Some(t) = tokens.next() {
        if t == "--" {
            rest.push(t.clone());
            rest.extend(tokens.by_ref().cloned());
        } else if let Some(long) = t.strip_prefix("--") {
            let (name, inline_value) = match long.split_once('=') {
                Some((n, _)) => (n, true),
                None => (long, false),
            };
            match by_long(name) {
                Some(a) => {
                    found.push(t.clone());
                    if takes_value(a) && !inline_value {
                        found.extend(tokens.next().cloned());
                    }
                }
                None => rest.push(t.clone()),
            }
        } else if is_short_switches(t, &globals) {
            found.push(t.clone());
        } else {
            rest.push(t.clone());
        }
    }
    (found, rest)
}

/// `-v`, `-vq`: only global short switches that take no value.
fn is_short_switches(token: &str, globals: &[&clap::Arg]) -> bool {
    let Some(shorts) = token.strip_prefix('-') else {
        return false;
    };
    !shorts.is_empty()
        && shorts.chars().all(|c| {
            globals
                .iter()
                .any(|a| a.get_short() == Some(c) && !a.get_action().takes_values())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn global_options_after_the_method_are_hoisted() {
        let (globals, rest) = split_globals(&strings(&[
            "exists",
            "--name",
            "g",
            "-vq",
            "--plugin",
            "p.wasm",
            "--cache-dir=/c",
            "--no-cache",
            "-n",
        ]));
        assert_eq!(
            globals,
            strings(&["-vq", "--plugin", "p.wasm", "--cache-dir=/c", "--no-cache"])
        );
        assert_eq!(rest, strings(&["exists", "--name", "g", "-n"]));
        let argv: Vec<OsString> = [
            "aci-host", "-q", "hook", "exists", "--name", "g", "-v", "--plugin", "x.wasm",
        ]
        .map(OsString::from)
        .to_vec();
        let cli = hoist(Cli::parse_from(&argv), &argv);
        assert_eq!(cli.verbose, 1);
        assert!(cli.quiet);
        assert_eq!(cli.plugin.as_deref(), Some(std::path::Path::new("x.wasm")));
        let Command::Hook(h) = cli.command else {
            panic!("not hook")
        };
        assert_eq!(h.args, strings(&["exists", "--name", "g"]));
    }

    #[test]
    fn everything_after_a_double_dash_is_the_methods() {
        let (globals, rest) = split_globals(&strings(&["exists", "--", "-v"]));
        assert!(globals.is_empty());
        assert_eq!(rest, strings(&["exists", "--", "-v"]));
    }
}
