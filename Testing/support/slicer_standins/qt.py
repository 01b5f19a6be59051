"""Stand-in for Slicer's `qt` module. The module uses qt only inside Widget methods, which need the Slicer GUI and are not
run by the tests; the names it uses are checked by the tests instead (against PySide6 for Qt, against CTK's class list for
ctk). Any attribute access here fails loudly, so an import-time use would be caught."""


def __getattr__(name):
    raise AttributeError("qt.%s: the qt stand-in models nothing (Widget code is not run in tests)" % name)
