# Synthetic input for the derive_schema.py test (written for this project, not upstream code).
ConfigBlock = object


class truthConfig(ConfigBlock):
    def __init__(self):
        self.addOption("histories", None, type=str)
