// SPDX-License-Identifier: LGPL-2.1-or-later
use std::path::PathBuf;

use daemon_support::{parse_args, usage, version_string, CliAction, CliOptions, Profile};

fn run(profile: &str, args: &[&str]) -> Result<CliAction, String> {
    let p = Profile::by_name(profile).unwrap_or_else(|| panic!("no profile {profile}"));
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    parse_args(&p, profile, &args).map_err(|e| e.message)
}

fn opts(profile: &str, args: &[&str]) -> CliOptions {
    match run(profile, args) {
        Ok(CliAction::Run(o)) => o,
        other => panic!("{args:?}: {other:?}"),
    }
}

#[test]
fn no_arguments_gives_defaults() {
    assert_eq!(opts("libvirtd", &[]), CliOptions::default());
}

#[test]
fn short_long_clustered_and_attached_forms() {
    let o = opts(
        "libvirtd",
        &["-dvl", "-f/x.conf", "--pid-file", "/p.pid", "--timeout=30"],
    );
    assert!(o.daemon && o.verbose && o.listen);
    assert_eq!(o.config_file, Some(PathBuf::from("/x.conf")));
    assert_eq!(o.pid_file, Some(PathBuf::from("/p.pid")));
    assert_eq!(o.timeout, 30);
    let o = opts(
        "virtproxyd",
        &["--conf=/y", "--verb", "-t", "0", "-p", "/q"],
    );
    assert!(o.verbose);
    assert_eq!(o.config_file, Some(PathBuf::from("/y")));
    assert_eq!(o.timeout, 0);
    // A later option of the same kind wins.
    assert_eq!(
        opts("libvirtd", &["-f", "/a", "--config", "/b"]).config_file,
        Some(PathBuf::from("/b"))
    );
}

#[test]
fn listen_exists_only_for_libvirtd() {
    assert!(opts("libvirtd", &["--listen"]).listen);
    assert_eq!(
        run("virtlxcd", &["-l"]),
        Err("virtlxcd: invalid option -- 'l'".into())
    );
    assert_eq!(
        run("virtproxyd", &["--listen"]),
        Err("virtproxyd: unrecognized option '--listen'".into())
    );
}

#[test]
fn help_and_version() {
    assert_eq!(run("libvirtd", &["-V"]), Ok(CliAction::Version));
    assert_eq!(run("libvirtd", &["-v", "--help"]), Ok(CliAction::Help));
    assert_eq!(version_string("virtlxcd"), "virtlxcd (libvirt) 9.6.0");
}

#[test]
fn bad_command_lines() {
    assert_eq!(
        run("libvirtd", &["-x"]),
        Err("libvirtd: invalid option -- 'x'".into())
    );
    assert_eq!(
        run("libvirtd", &["--bogus"]),
        Err("libvirtd: unrecognized option '--bogus'".into())
    );
    assert_eq!(
        run("libvirtd", &["-f"]),
        Err("libvirtd: option requires an argument -- 'f'".into())
    );
    assert_eq!(
        run("libvirtd", &["--config"]),
        Err("libvirtd: option '--config' requires an argument".into())
    );
    assert_eq!(
        run("libvirtd", &["--daemon=1"]),
        Err("libvirtd: option '--daemon' doesn't allow an argument".into())
    );
    assert_eq!(
        run("libvirtd", &["extra"]),
        Err("libvirtd: unexpected, non-option, command line arguments".into())
    );
    assert_eq!(
        run("libvirtd", &["--", "-d"]),
        Err("libvirtd: unexpected, non-option, command line arguments".into())
    );
    for bad in ["-1", "abc", "2147484", ""] {
        assert_eq!(
            run("libvirtd", &["-t", bad]),
            Err("Invalid value for timeout".into()),
            "{bad}"
        );
    }
    // Like strtol with an end pointer, trailing text after digits is ignored.
    assert_eq!(opts("libvirtd", &["-t", "5s"]).timeout, 5);
    assert_eq!(opts("libvirtd", &["-t", "2147483"]).timeout, 2_147_483);
}

#[test]
fn usage_lists_the_profiles_options_and_paths() {
    let lib = Profile::libvirtd();
    let u = usage(&lib, "libvirtd", true);
    assert!(u.contains("-l | --listen"));
    assert!(u.contains("/etc/libvirt/libvirtd.conf"));
    assert!(u.contains("/run/libvirt/libvirt-sock-ro"));
    assert!(u.contains("/run/libvirtd.pid"));
    let lxc = Profile::by_name("virtlxcd").unwrap_or(lib);
    let u = usage(&lxc, "virtlxcd", false);
    assert!(!u.contains("--listen"));
    assert!(!u.contains("sock-ro"));
    assert!(u.contains("$XDG_RUNTIME_DIR/libvirt/virtlxcd.pid"));
}
