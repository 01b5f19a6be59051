"""Stand-in for slicer.ScriptedLoadableModule: the four base classes, with the members scripted modules rely on."""

from __future__ import annotations

import logging
import os
import unittest

import slicer

__all__ = ["ScriptedLoadableModule", "ScriptedLoadableModuleWidget", "ScriptedLoadableModuleLogic", "ScriptedLoadableModuleTest"]


class _ModuleParent:
    """What ``parent`` is for a module: attributes the module sets (title, categories, helpText...)."""


class ScriptedLoadableModule:
    def __init__(self, parent=None):
        self.parent = parent if parent is not None else _ModuleParent()
        self.moduleName = self.__class__.__name__
        self.parent.title = ""
        self.parent.categories = []
        self.parent.dependencies = []
        self.parent.contributors = []
        self.parent.helpText = ""
        self.parent.acknowledgementText = ""

    def resourcePath(self, filename: str) -> str:
        import inspect

        moduleDir = os.path.dirname(inspect.getfile(self.__class__))
        return os.path.join(moduleDir, "Resources", filename)


class ScriptedLoadableModuleWidget:
    def __init__(self, parent=None):
        self.parent = parent
        self.moduleName = self.__class__.__name__
        if self.moduleName.endswith("Widget"):
            self.moduleName = self.moduleName[:-6]

    def resourcePath(self, filename: str) -> str:
        import inspect

        moduleDir = os.path.dirname(inspect.getfile(self.__class__))
        return os.path.join(moduleDir, "Resources", filename)

    def setup(self):
        raise RuntimeError("the Widget needs the Slicer GUI; the stand-in does not model it")

    def cleanup(self):
        pass


class ScriptedLoadableModuleLogic:
    def __init__(self, parent=None):
        super().__init__()
        self.moduleName = self.__class__.__name__
        if self.moduleName.endswith("Logic"):
            self.moduleName = self.moduleName[:-5]
        self.isSingletonParameterNode = True

    def getParameterNode(self):
        node = slicer.mrmlScene.GetSingletonNode(self.moduleName, "vtkMRMLScriptedModuleNode")
        if node:
            return node
        return slicer.mrmlScene.AddNode(self.createParameterNode())

    def createParameterNode(self):
        node = slicer.mrmlScene.CreateNodeByClass("vtkMRMLScriptedModuleNode")
        node.SetSingletonTag(self.moduleName)
        node.SetAttribute("ModuleName", self.moduleName)
        node.SetName(slicer.mrmlScene.GenerateUniqueName(self.moduleName))
        return node


class ScriptedLoadableModuleTest(unittest.TestCase):
    def delayDisplay(self, message, requestedDelay=None, msec=None):
        logging.info(message)

    def setUp(self):
        slicer.mrmlScene.Clear(0)

    def tearDown(self):
        pass
