"""nbgrader integration: an nbgrader course made from the exercises, and sandboxed autograding.

- course.py: ``nnex nbgrader init COURSE_DIR``: nbgrader_config.py and, per exercise, the source
  notebook made from the single source in solutions/ and the manifest;
- autograde.py: the preprocessor that nbgrader's autograde runs in place of Execute: it takes the
  student's code out of the notebook, grades it with the sandboxed engine and writes each test
  cell's result as the cell's output (nbgrader itself is imported only there);
- release.py: ``nnex release OUT_DIR``: what students receive, without solutions or hidden tests.
"""
