"""JupyterLab for the course, offline: what `make lab` starts.

The Makefile puts this folder on JUPYTER_CONFIG_PATH, so `jupyter lab` reads
this file, nbgrader_config.py (the Validate button's settings) and
labconfig/default_setting_overrides.json (new defaults for the settings of
JupyterLab's extensions; what a user picks in the Settings editor still
wins). The server runs in the repository root, whose nbgrader_config.py
makes it the course folder for the Nbgrader menu, formgrader and the
notebook's Validate button.

JupyterLab reaches out to the internet in three places; all three are off:

* the news feed (``news_url``): the frontend would ask every new user whether
  to fetch it, and labconfig/default_setting_overrides.json sets the answer
  to Never (``fetchNews: "false"``);
* the check for a newer JupyterLab on PyPI (``check_for_updates_class``, and
  ``checkForUpdates: false`` in the same settings file);
* the extension manager's search of PyPI (``extension_manager``): the
  read-only manager lists what is installed and installs nothing.

nbgrader's formgrader would load MathJax from cdnjs.cloudflare.com on each
submission it shows: the extension convviz_grade.lab_formgrader serves it from
this machine instead.
"""

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"
# Open on the students' notebooks: exercises/<assignment>/<assignment>.ipynb.
c.LabApp.default_url = "/lab/tree/exercises"
c.ServerApp.jpserver_extensions.update({"convviz_grade.lab_formgrader": True})
