"""Signal processing: pure NumPy/SciPy, no I/O, no asyncio, no Qt.

Live (causal, chunk-by-chunk) and offline (zero-phase) paths live side by side and share their building
blocks. Phase convention (see README): radians in [0, 2*pi), 0 = inhale onset, pi = end of inhale; NaN when
unknown.
"""
