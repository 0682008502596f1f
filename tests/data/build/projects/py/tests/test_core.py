from pkg.core import add, Box


def test_add():
    assert add(1, 2) == 4


def test_box():
    Box().get()


def test_ok():
    assert add(2, 2) == 4


def test_raises():
    raise ValueError("bad value at 0x7f3a2b1c")
