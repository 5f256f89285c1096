# Synthetic input for the extract_facts.py test (written for this project, not upstream code).
ConfigBlock = object
GeV = 1000.0


class ElectronCalibrationConfig (ConfigBlock):
    def __init__ (self, postfix=''):
        self.addDependency('OverlapRemoval', required=False)
        self.addOption ('containerName', '', type=str, noneAction='error', info="output container")
        self.addOption ('minPt', 4.5*GeV, type=float)
        self.addOption ('crackVeto', False, type=bool)
        self.addOption ('files', None, type=None)


def makeJetAnalysisConfig (seq, containerName, jetCollection, runJvtUpdate=False):
    pass
