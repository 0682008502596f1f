import not_a_module_abc

def test_x():
    pass
