"""STAND-IN for athena's AnalysisAlgorithmsConfig package (servicex-topcp test fixture).

NOT athena code: a small re-implementation, written for this project, of the documented
config-block API that TopCPToolkit's text configs and dump_release_schema.py rely on
(ConfigBlock.addOption/getOptions/setOptionValue, ConfigSequence.getOptions/setOptions,
ConfigFactory._algs/_order/addAlgConfigBlock/FactoryBlock.makeConfig, TextConfig). Its blocks
are a handful of invented ones (StandinAnalysisAlgorithms); a real AnalysisBase image has the
real package at the same import path.
"""
