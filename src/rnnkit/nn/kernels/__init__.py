"""The fast paths: functions over tensors that compute a cell's equations faster than the reference loop.

They sit below the cells (a cell's :class:`~rnnkit.nn.capabilities.Kernels` points at them) and know no cell
by its class; :mod:`rnnkit.nn.backends` decides per call which one runs. One module per kind of kernel:

=================  ==========================================================================================
fused.py           ``fused``: torch.nn's own kernels (cuDNN on GPU, oneDNN/ATen on CPU) with the layer's weights
cpp.py, csrc/      ``cpp``: CPU inference as a C++ loop, built on first use
bptt_gru.py        ``bptt``: the reset-before GRU's sequence kernel with a hand-written backward pass
bptt_lstm.py       ``bptt``: the same for the LSTM and the LayerNorm-LSTM (with zoneout, variational dropout)
triton_gru.py      ``triton``: the reset-before GRU's kernel on Triton (CUDA; Triton is an optional extra)
cuda_graphs.py     ``triton-graph``, ``cuda-graph``: launch loops replayed from CUDA graphs
=================  ==========================================================================================
"""
