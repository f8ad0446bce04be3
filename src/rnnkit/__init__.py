"""rnnkit: recurrent neural networks exactly as the equations define them."""

__version__ = "0.1.0"
