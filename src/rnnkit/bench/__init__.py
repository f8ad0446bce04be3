"""Speed measurement: interleaved timing and result files (``timing``), the ``rnnkit bench`` suite (``speed``),
and its markdown/plot report (``report``)."""
