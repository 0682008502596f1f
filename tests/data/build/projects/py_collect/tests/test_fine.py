def test_y():
    assert 1
