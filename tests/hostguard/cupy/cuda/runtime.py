"""``cupy.cuda.runtime`` in the hostguard stand-in: one pretend device."""

is_hip = False


def getDeviceCount():
    return 1


def getDevice():
    return 0


def deviceSynchronize():
    pass


def runtimeGetVersion():
    return 0


def getDeviceProperties(device):
    return {"name": b"hostguard (NumPy stand-in for CuPy, not a GPU)", "totalGlobalMem": 0, "major": 0, "minor": 0}
