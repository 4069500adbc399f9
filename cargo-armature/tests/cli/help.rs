//! `--help` (snapshots, with an example for every command), `--version`, and
//! both ways of calling the binary.

use crate::support::{armature, command, dump, success, BIN};

fn help(args: &[&str]) -> String {
    let dir = std::env::temp_dir();
    let mut full = args.to_vec();
    full.push("--help");
    success(&armature(&dir, &full))
}

#[test]
fn top_level_help() {
    insta::assert_snapshot!(help(&[]));
}

#[test]
fn new_help() {
    insta::assert_snapshot!(help(&["new"]));
}

#[test]
fn build_help() {
    insta::assert_snapshot!(help(&["build"]));
}

#[test]
fn bench_help() {
    insta::assert_snapshot!(help(&["bench"]));
}

#[test]
fn doctor_help() {
    insta::assert_snapshot!(help(&["doctor"]));
}

/// The subcommands listed by `--help` (without `help`).
fn commands() -> Vec<String> {
    let top = help(&[]);
    let section = top
        .split("Commands:\n")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap();
    section
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_command_help_has_an_example() {
    let commands = commands();
    assert!(commands.len() >= 4, "{commands:?}");
    let top = help(&[]);
    for cmd in &commands {
        assert!(
            top.contains(&format!("  cargo armature {cmd} ")),
            "top-level examples lack {cmd}"
        );
        let text = help(&[cmd]);
        assert!(
            text.contains("Examples:\n"),
            "{cmd} --help has no examples:\n{text}"
        );
        assert!(
            text.contains(&format!("cargo armature {cmd}")),
            "{cmd}:\n{text}"
        );
    }
}

#[test]
fn version_is_printed_both_ways() {
    let dir = std::env::temp_dir();
    let via_cargo = success(&armature(&dir, &["--version"]));
    assert_eq!(
        via_cargo,
        format!("cargo-armature {}\n", env!("CARGO_PKG_VERSION"))
    );
    let direct = command(BIN, &dir).arg("--version").output().unwrap();
    assert_eq!(success(&direct), via_cargo);
}

#[test]
fn unknown_command_is_a_usage_error() {
    let out = armature(&std::env::temp_dir(), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2), "{}", dump(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn no_command_prints_usage_and_fails() {
    let out = armature(&std::env::temp_dir(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", dump(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage: cargo armature <COMMAND>"));
}
