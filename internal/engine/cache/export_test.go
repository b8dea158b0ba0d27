package cache

// MeasureCPU is measureCPU for the external benchmarks.
var MeasureCPU = measureCPU
