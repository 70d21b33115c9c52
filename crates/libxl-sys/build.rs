// SPDX-License-Identifier: LGPL-2.1-or-later
//! With the `libxl` feature: generates the libxl bindings with bindgen and
//! links libxenlight and libxentoollog. Without it: nothing.

fn main() {
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "libxl")]
    generate();
}

#[cfg(feature = "libxl")]
fn generate() {
    use std::path::PathBuf;
    println!("cargo:rustc-link-lib=xenlight");
    println!("cargo:rustc-link-lib=xentoollog");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    let bindings = bindgen::Builder::default()
        .header("wrapper.h")
        .allowlist_function("libxl_.*")
        .allowlist_function("xtl_.*")
        .allowlist_type("libxl_.*")
        .allowlist_type("xentoollog_.*")
        .allowlist_var("LIBXL_.*")
        .allowlist_var("XTL_.*")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .generate();
    match bindings {
        Ok(b) => {
            if let Err(e) = b.write_to_file(out.join("bindings.rs")) {
                panic!("cannot write libxl bindings: {e}");
            }
        }
        Err(e) => {
            panic!("cannot generate libxl bindings (install libxen-dev and libclang-dev): {e}")
        }
    }
}
