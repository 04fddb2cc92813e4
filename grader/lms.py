"""The names that learning management systems give the files of a download, and whose they are.

Recognised (the README lists them with examples):

- Canvas ("Download Submissions"): one flat folder, or its zip, of files named
  ``<name>_[late_]<user id>_<file id>_<original name>``, where Canvas may have added a ``-1``-style
  suffix to an original name it had seen before (``neuron-1.py``);
- Moodle ("Download all submissions"): one folder per student,
  ``<Full Name>_<participant id>_assignsubmission_file_``, or with "Download submissions in folders"
  off, files named ``<Full Name>_<participant id>_assignsubmission_file_<original name>``;
- Gradescope ("Export Submissions"): ``submission_metadata.yml`` beside one folder per submission,
  ``submission_<id>``, the metadata naming its submitters.

Only names are read here; submissions.py opens the files.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

GRADESCOPE_METADATA = "submission_metadata.yml"
_CANVAS = re.compile(r"^(?P<name>[^_]+)_(?:late_)?(?P<user>\d+)_(?P<file>\d+)_(?P<original>.+)$", re.IGNORECASE)
_CANVAS_RENAMED = re.compile(r"^(?P<stem>.+)-\d+(?P<suffix>\.[^.]+)$")  # neuron-1.py: Canvas's renaming
_MOODLE = re.compile(r"^(?P<name>.+)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<original>.*)$")
_GRADESCOPE_FOLDER = re.compile(r"^submission_\d+$")


@dataclass(frozen=True)
class Student:
    """Who a submission is from, as the LMS named them."""
    name: str
    lms: str  # canvas, moodle or gradescope
    lms_id: str  # Canvas's user id, Moodle's participant id, Gradescope's student id (else the submission's)

    def as_dict(self) -> dict:
        return {"name": self.name, "lms": self.lms, "lms_id": self.lms_id}


@dataclass(frozen=True)
class Upload:
    """One file of a download: whose it is, the name the student gave it, and its place among the
    student's uploads of the same name (the larger, the later)."""
    student: Student
    original: str
    order: int


def upload(filename: str, student_files: set[str]) -> Upload | None:
    """The Canvas or Moodle upload that ``filename`` names, or None when it names none.

    ``student_files``: the names the exercises' files may have (neuron.py, neuron.ipynb, ...): a
    Canvas renaming suffix is dropped only where that gives one of them.
    """
    moodle = _MOODLE.match(filename)
    if moodle and moodle["original"]:
        return Upload(Student(moodle["name"], "moodle", moodle["participant"]), moodle["original"], 0)
    canvas = _CANVAS.match(filename)
    if canvas:
        original = canvas["original"]
        renamed = _CANVAS_RENAMED.match(original)
        if renamed and renamed["stem"] + renamed["suffix"] in student_files:
            original = renamed["stem"] + renamed["suffix"]
        return Upload(Student(canvas["name"], "canvas", canvas["user"]), original, int(canvas["file"]))
    return None


def moodle_folder(name: str) -> Student | None:
    """The student of a Moodle download's folder (``Jane Doe_123_assignsubmission_file_``), or None."""
    moodle = _MOODLE.match(name)
    return Student(moodle["name"], "moodle", moodle["participant"]) if moodle and not moodle["original"] else None


def is_gradescope_folder(name: str) -> bool:
    return bool(_GRADESCOPE_FOLDER.match(name))


def gradescope_students(metadata: str) -> dict[str, Student]:
    """Submission folder -> its student(s), from the text of a Gradescope export's submission_metadata.yml.

    Raises ValueError when the text is not such a file.
    """
    try:
        data = yaml.safe_load(metadata)
    except yaml.YAMLError as error:
        raise ValueError(f"{GRADESCOPE_METADATA} is not YAML: {str(error)[:200]}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{GRADESCOPE_METADATA} does not map submission folders to their submitters")
    students = {}
    for folder, entry in data.items():
        submitters = entry.get(":submitters") if isinstance(entry, dict) else None
        if not isinstance(submitters, list) or not submitters or not all(isinstance(s, dict) for s in submitters):
            continue
        names = [str(s.get(":name") or s.get(":email") or "") for s in submitters]
        ids = [str(s.get(":sid") or s.get(":email") or "") for s in submitters]
        if all(names):
            students[str(folder)] = Student(" & ".join(names), "gradescope",
                                            " & ".join(ids) if all(ids) else str(folder).removeprefix("submission_"))
    return students
