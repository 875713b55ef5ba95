//! The model-file loader must return an error, never panic, on any bytes; a file that loads must
//! also run a forward pass on a batch of its input shape (or fail cleanly).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nnviz_core::candle::{DType, Device, Tensor};

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.safetensors");
    if let Ok(f) = nnviz_core::model::io::parse_model(data, path, &Device::Cpu) {
        let [c, h, w] = f.network.input;
        // Skip absurd inputs a mutated architecture may declare (memory, not correctness).
        if c.saturating_mul(h).saturating_mul(w) <= 1 << 16 {
            if let Ok(x) = Tensor::zeros((1, c, h, w), DType::F32, &Device::Cpu) {
                let _ = f.network.forward(&x);
            }
        }
    }
});
