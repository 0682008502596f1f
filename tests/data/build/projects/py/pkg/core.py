import os
import sys
from typing import List


def add(a: int, b: int) -> int:
    return a + b


def greet(name: str) -> str:
    count: int = "three"
    return "hi " + name + undefined_name


class Box:
    def __init__(self) -> None:
        self.value = 1

    def get(self) -> str:
        return self.valu


def use() -> None:
    add("x", 2)
    import missing_module_xyz
    l = [1, 2]
    if l == None:
        pass
