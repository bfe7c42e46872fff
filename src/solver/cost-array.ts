/** A dense row-major cost matrix. Float32 costs are read as float32 (half the memory traffic); duals stay f64. */
export type CostArray = Float64Array | Float32Array;
