//! `cargo run -p uniffi-bindgen -- generate --library <libllavero_mobile> --language <lang> --out-dir <dir>`
fn main() {
    uniffi::uniffi_bindgen_main();
}
