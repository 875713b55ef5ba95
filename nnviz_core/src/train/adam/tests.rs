use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use super::Adam;
use crate::Rng;

fn bits(t: &Tensor) -> Vec<u64> {
    let t = t.flatten_all().unwrap();
    match t.dtype() {
        DType::F64 => t
            .to_vec1::<f64>()
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect(),
        _ => t
            .to_dtype(DType::F32)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .map(|v| v.to_bits() as u64)
            .collect(),
    }
}

/// Runs both optimisers on copies of the same parameters with the same gradients.
fn compare(dtype: DType, params: ParamsAdamW, steps: usize) {
    let mut rng = Rng::new(5);
    let shapes: [&[usize]; 3] = [&[70_000], &[3, 4], &[1]];
    let init: Vec<Tensor> = shapes
        .iter()
        .map(|s| {
            let n: usize = s.iter().product();
            let v: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
            Tensor::from_vec(v, *s, &Device::Cpu)
                .unwrap()
                .to_dtype(dtype)
                .unwrap()
        })
        .collect();
    let ours: Vec<Var> = init.iter().map(|t| Var::from_tensor(t).unwrap()).collect();
    let theirs: Vec<Var> = init.iter().map(|t| Var::from_tensor(t).unwrap()).collect();
    let mut a = Adam::new(ours.clone(), params.clone()).unwrap();
    let mut b = AdamW::new(theirs.clone(), params).unwrap();
    for step in 0..steps {
        // A loss whose gradient is a random vector with exact zeros and negative zeros in it.
        let (mut la, mut lb) = (vec![], vec![]);
        for (va, vb) in ours.iter().zip(&theirs) {
            let n = va.elem_count();
            let g: Vec<f32> = (0..n)
                .map(|i| match (i + step) % 7 {
                    0 => 0.0,
                    1 => -0.0,
                    _ => rng.normal() * 0.1,
                })
                .collect();
            let g = Tensor::from_vec(g, va.shape(), &Device::Cpu)
                .unwrap()
                .to_dtype(dtype)
                .unwrap();
            la.push((va.as_tensor() * &g).unwrap().sum_all().unwrap());
            lb.push((vb.as_tensor() * &g).unwrap().sum_all().unwrap());
        }
        let la = Tensor::stack(&la, 0).unwrap().sum_all().unwrap();
        let lb = Tensor::stack(&lb, 0).unwrap().sum_all().unwrap();
        a.backward_step(&la).unwrap();
        b.backward_step(&lb).unwrap();
        for (i, (va, vb)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(
                bits(va.as_tensor()),
                bits(vb.as_tensor()),
                "{dtype:?} parameter {i} differs from candle's AdamW after step {}",
                step + 1
            );
        }
    }
}

#[test]
fn equals_candles_adamw_bit_for_bit() {
    let plain = ParamsAdamW {
        lr: 1e-3,
        weight_decay: 0.0,
        ..ParamsAdamW::default()
    };
    // f32 on the CPU: the fused pass; f64: candle's tensor operations.
    compare(DType::F32, plain.clone(), 6);
    compare(DType::F64, plain, 3);
    let decayed = ParamsAdamW {
        lr: 3e-2,
        beta1: 0.8,
        beta2: 0.99,
        eps: 1e-6,
        weight_decay: 0.1,
    };
    compare(DType::F32, decayed, 6);
}

#[test]
fn learning_rate_can_be_changed_and_missing_gradients_are_skipped() {
    let v = Var::from_tensor(&Tensor::new(&[1f32, 2.0], &Device::Cpu).unwrap()).unwrap();
    let w = Var::from_tensor(&Tensor::new(&[5f32], &Device::Cpu).unwrap()).unwrap();
    let params = ParamsAdamW {
        weight_decay: 0.0,
        ..ParamsAdamW::default()
    };
    let mut opt = Adam::new(vec![v.clone(), w.clone()], params).unwrap();
    opt.set_learning_rate(0.5);
    assert_eq!(opt.learning_rate(), 0.5);
    // Only v takes part: w keeps its value. The first step moves by lr · sign(g) (m̂/√v̂ = ±1).
    opt.backward_step(&(v.as_tensor() * 2.0).unwrap().sum_all().unwrap())
        .unwrap();
    let got = v.as_tensor().to_vec1::<f32>().unwrap();
    assert!(
        (got[0] - 0.5).abs() < 1e-6 && (got[1] - 1.5).abs() < 1e-6,
        "{got:?}"
    );
    assert_eq!(w.as_tensor().to_vec1::<f32>().unwrap(), vec![5.0]);
}
