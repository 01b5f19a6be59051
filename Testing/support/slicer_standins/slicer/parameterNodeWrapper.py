"""Stand-in for slicer.parameterNodeWrapper: the decorator and the annotations the module uses.

Like Slicer's, the decorator resolves the class's annotations with ``typing.get_type_hints(include_extras=True)`` (so an
annotation Slicer could not evaluate fails here too), turns each into a typed property with a default, and validates
values (type, ``WithinRange``, ``Choice``...). Values are kept as Python objects on the parameter node instead of being
serialised to strings. ``connectGui`` only records that it was called: GUI binding is checked against the .ui file by
the tests instead.
"""

from __future__ import annotations

import enum
import typing

__all__ = ["parameterNodeWrapper", "WithinRange", "Minimum", "Maximum", "Choice", "Default", "Decimals", "SingleStep"]


class WithinRange:
    def __init__(self, minimum, maximum):
        self.minimum, self.maximum = minimum, maximum

    def validate(self, value):
        if not (self.minimum <= value <= self.maximum):
            raise ValueError("value %r not within [%r, %r]" % (value, self.minimum, self.maximum))


class Minimum:
    def __init__(self, minimum):
        self.minimum = minimum

    def validate(self, value):
        if value < self.minimum:
            raise ValueError("value %r below minimum %r" % (value, self.minimum))


class Maximum:
    def __init__(self, maximum):
        self.maximum = maximum

    def validate(self, value):
        if value > self.maximum:
            raise ValueError("value %r above maximum %r" % (value, self.maximum))


class Choice:
    def __init__(self, choices):
        self.choices = list(choices)

    def validate(self, value):
        if value not in self.choices:
            raise ValueError("value %r not in %r" % (value, self.choices))


class Default:
    def __init__(self, value):
        self.value = value


class Decimals:
    def __init__(self, value: int):
        self.value = value


class SingleStep:
    def __init__(self, value: float):
        self.value = value


def _split(annotation):
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        return base, extras
    return annotation, []


def _isNodeType(base) -> bool:
    return isinstance(base, type) and base.__name__.startswith("vtkMRML")


def _typeDefault(base):
    if base is bool:
        return False
    if base is int:
        return 0
    if base is float:
        return 0.0
    if base is str:
        return ""
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return next(iter(base))
    if _isNodeType(base):
        return None
    raise TypeError("stand-in parameterNodeWrapper: unsupported parameter type %r" % (base,))


def _validate(name, base, extras, value):
    if _isNodeType(base):
        if value is not None and not isinstance(value, base):
            raise TypeError("%s: expected %s or None, got %s" % (name, base.__name__, type(value).__name__))
        return value
    if base is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError("%s: expected float, got %r" % (name, value))
        value = float(value)
    elif base is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("%s: expected int, got %r" % (name, value))
    elif not isinstance(value, base):
        raise TypeError("%s: expected %s, got %r" % (name, getattr(base, "__name__", base), value))
    for extra in extras:
        if hasattr(extra, "validate"):
            extra.validate(value)
    return value


def parameterNodeWrapper(classtype=None):
    def wrap(cls):
        hints = typing.get_type_hints(cls, include_extras=True)
        parameters = {}
        for name, annotation in hints.items():
            base, extras = _split(annotation)
            if name in cls.__dict__:
                default = cls.__dict__[name]
            else:
                explicit = [extra.value for extra in extras if isinstance(extra, Default)]
                default = explicit[0] if explicit else _typeDefault(base)
            parameters[name] = (base, extras, _validate(name, base, extras, default))

        def __init__(self, parameterNode):
            object.__setattr__(self, "parameterNode", parameterNode)
            values = parameterNode.__dict__.setdefault("_wrappedValues", {})
            for name, (_, _, default) in parameters.items():
                values.setdefault(name, default)

        def makeProperty(name, base, extras):
            def getter(self):
                return self.parameterNode._wrappedValues[name]

            def setter(self, value):
                self.parameterNode._wrappedValues[name] = _validate(name, base, extras, value)
                self.parameterNode.Modified()

            return property(getter, setter)

        for name, (base, extras, _) in parameters.items():
            setattr(cls, name, makeProperty(name, base, extras))

        def connectGui(self, ui):
            self.parameterNode.__dict__.setdefault("_guiConnections", []).append(ui)
            return len(self.parameterNode._guiConnections)

        def disconnectGui(self, tag):
            pass

        def __setattr__(self, name, value):
            if name not in parameters:
                raise AttributeError("%s has no parameter '%s'" % (cls.__name__, name))
            object.__setattr__(self, name, value)

        cls.__init__ = __init__
        cls.__setattr__ = __setattr__
        cls.connectGui = connectGui
        cls.disconnectGui = disconnectGui
        cls.standinParameters = parameters  # stand-in only: lets tests compare the parameters with the .ui
        return cls

    if classtype is None:
        return wrap
    return wrap(classtype)
