"""Stand-in for the few VTK classes CoronaryCalcium.py uses (no VTK here). Same names and call forms as VTK's Python API.

Only what the module calls exists: a call to anything else fails with AttributeError, as it would on a typo in Slicer.
"""

from __future__ import annotations

from typing import Any, List


class vtkCommand:
    ModifiedEvent = 33


class vtkObject:
    def __init__(self) -> None:
        self._observers = {}
        self._next_tag = 1

    def AddObserver(self, event, callback, priority: float = 0.0) -> int:
        tag = self._next_tag
        self._next_tag += 1
        self._observers[tag] = (event, callback)
        return tag

    def RemoveObserver(self, tag: int) -> None:
        self._observers.pop(tag, None)

    def Modified(self) -> None:
        for event, callback in list(self._observers.values()):
            if event == vtkCommand.ModifiedEvent:
                callback(self, event)

    def GetClassName(self) -> str:
        return type(self).__name__


class _DataArray(vtkObject):
    _convert = staticmethod(lambda value: value)
    _default: Any = None

    def __init__(self) -> None:
        super().__init__()
        self._name = None
        self._values: List[Any] = []

    def SetName(self, name: str) -> None:
        self._name = name

    def GetName(self):
        return self._name

    def SetNumberOfValues(self, count: int) -> None:
        self._values = [self._default] * int(count)

    SetNumberOfTuples = SetNumberOfValues

    def GetNumberOfValues(self) -> int:
        return len(self._values)

    GetNumberOfTuples = GetNumberOfValues

    def SetValue(self, index: int, value) -> None:
        self._values[index] = self._convert(value)

    def GetValue(self, index: int):
        return self._values[index]

    def InsertNextValue(self, value) -> int:
        self._values.append(self._convert(value))
        return len(self._values) - 1


class vtkStringArray(_DataArray):
    _convert = staticmethod(str)
    _default = ""


class vtkDoubleArray(_DataArray):
    _convert = staticmethod(float)
    _default = 0.0


class vtkIntArray(_DataArray):
    _convert = staticmethod(int)
    _default = 0


class vtkMatrix4x4(vtkObject):
    def __init__(self) -> None:
        super().__init__()
        self._m = [[1.0 if i == j else 0.0 for j in range(4)] for i in range(4)]

    def GetElement(self, i: int, j: int) -> float:
        return self._m[i][j]

    def SetElement(self, i: int, j: int, value: float) -> None:
        self._m[i][j] = float(value)

    def Identity(self) -> None:
        self._m = [[1.0 if i == j else 0.0 for j in range(4)] for i in range(4)]

    def DeepCopy(self, other: "vtkMatrix4x4") -> None:
        self._m = [row[:] for row in other._m]
