"""Run files: a whole training run (configuration, the panels' histories, the latest weights and
optimizer state) in one pickle-free ``.rnnviz`` file, written by ``rnnviz train`` and the app and
opened by ``rnnviz open``. No Qt here. See ``rnnviz.runs.file`` for the layout.
"""
