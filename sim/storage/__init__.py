"""Storage: the one atomic writer and folder locks (``output``), reading a results folder
back (``rundata``) and the event log for process mining (``export``). It imports only the
results, the params and the constants.
"""
