//! The IDX (MNIST) reader must return an error, never panic, on any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nnviz_core::data::mnist::parse_idx(data, std::path::Path::new("fuzz.idx"));
});
