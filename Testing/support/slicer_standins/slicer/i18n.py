"""Stand-in for slicer.i18n: no translation, text passes through."""


def tr(text: str) -> str:
    return text


def translate(context: str, text: str) -> str:
    return text
