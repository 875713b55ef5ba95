//! A checked wrapper around the `gemm` crate's `f32` matrix product.

use gemm::Parallelism;

use super::op_err;

/// A read-only strided view of a matrix: element `(i, j)` is `data[i·rs + j·cs]`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mat<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> Mat<'a> {
    /// A row-major `rows × cols` matrix.
    pub(super) fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Mat<'a> {
        Mat {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose (no copy).
    pub(super) fn t(self) -> Mat<'a> {
        Mat {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// Whether every element lies inside `data`.
    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.rs + (self.cols - 1) * self.cs < self.data.len()
    }
}

/// `dst[m×n] (row-major) = a[m×k] · b[k×n]`, or `dst += a · b` when `accumulate`.
pub(super) fn matmul(
    op: &str,
    dst: &mut [f32],
    a: Mat<'_>,
    b: Mat<'_>,
    accumulate: bool,
    parallelism: Parallelism,
) -> candle_core::Result<()> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k || dst.len() != m * n || !a.fits() || !b.fits() {
        return Err(op_err(format!(
            "{op}: matmul of [{m}×{k}] and [{}×{n}] into {} elements does not fit its buffers \
             ({} and {} elements)",
            b.rows,
            dst.len(),
            a.data.len(),
            b.data.len()
        )));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return Ok(());
    }
    // SAFETY: the checks above guarantee that every element the product reads lies inside `a.data`
    // and `b.data` (`fits`), and that the row-major destination `m × n` (row stride `n`, column
    // stride 1) is exactly `dst`, which is borrowed mutably and so aliases neither input. The
    // element type is f32, which `gemm` supports.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}

/// gemm's parallelism for `threads` threads.
pub(super) fn parallelism(threads: usize) -> Parallelism {
    if threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    }
}
