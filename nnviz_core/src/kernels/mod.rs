//! Fast CPU kernels where candle's are slow (work in progress).
