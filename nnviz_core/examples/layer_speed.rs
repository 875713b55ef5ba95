//! Times each layer's forward pass of the benchmark's reference CNN on a batch of 100 test
//! digits, then each layer's share of the input gradient's backward pass (the gradient rule, as
//! `Saliency` runs it), at the thread count of `RAYON_NUM_THREADS`:
//! `RAYON_NUM_THREADS=1 cargo run --release --example layer_speed` (then with 2, and compare).

use std::time::Instant;

use nnviz_core::bench::workload;
use nnviz_core::prelude::*;

fn median_ms(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?; // warm-up
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t0 = Instant::now();
        f()?;
        t.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    t.sort_by(f64::total_cmp);
    Ok(t[reps / 2])
}

fn main() -> Result<()> {
    let data = Dataset::mnist()?;
    let (net, x) = workload(&data, 100, &Device::Cpu)?;
    let trace = net.forward_trace(&x)?;
    let reps = 41;
    println!("threads: {}", rayon::current_num_threads());
    let mut total = 0.0;
    for (i, l) in net.layers.iter().enumerate() {
        let input = trace.input(i).expect("traced").clone();
        let ms = median_ms(reps, || {
            net.forward_range(&input, i..i + 1)?;
            Ok(())
        })?;
        total += ms;
        println!("{:<10} {:?} {:>8.2} ms", l.name, input.dims(), ms);
    }
    let whole = median_ms(reps, || {
        net.forward(&x)?;
        Ok(())
    })?;
    println!("sum of layers {total:.2} ms, whole forward {whole:.2} ms");

    // The backward pass layer by layer: `layer_vjp(.., i, ..)` runs the forward pass and the
    // gradient down to the output of layer i, so the difference of two neighbours is one layer's
    // backward step (and `vjp` goes down to the input).
    let target = Target::predicted();
    let mut down_to = Vec::with_capacity(net.layers.len());
    for i in 0..net.layers.len() {
        down_to.push(median_ms(reps, || {
            nnviz_core::grad::layer_vjp(&net, &x, i, &target)?;
            Ok(())
        })?);
    }
    let full = median_ms(reps, || {
        nnviz_core::grad::vjp(&net, &x, &target)?;
        Ok(())
    })?;
    println!("backward (gradient rule), per layer:");
    let mut back = 0.0;
    for (i, l) in net.layers.iter().enumerate() {
        let below = if i == 0 { full } else { down_to[i - 1] };
        back += below - down_to[i];
        println!("{:<10} {:>8.2} ms", l.name, below - down_to[i]);
    }
    println!(
        "top (∂s/∂logits) and forward {:.2} ms, backward {back:.2} ms, whole gradient {full:.2} ms",
        down_to[net.layers.len() - 1]
    );
    Ok(())
}
