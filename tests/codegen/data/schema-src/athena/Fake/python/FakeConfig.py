# Synthetic input for the derive_schema.py test (written for this project, not upstream code).
ConfigBlock = object


class ElectronCalibrationConfig (ConfigBlock):
    def __init__ (self):
        self.addOption ('containerName', '', type=str, info="output container")
        self.addOption ('minPt', 4500.0, type=float)
        self.addOption ('crackVeto', False, type=bool)


def makeJetAnalysisConfig (seq, containerName, jetCollection, runJvtUpdate=False):
    pass
