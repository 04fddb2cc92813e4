"""What the grader writes from the results: the terminal table, SPEC.md's JSON, the CSV,
Gradescope's results.json, and the students' feedback pages."""
from grader.reports.data import STDOUT, write_csv, write_json
from grader.reports.feedback import FORMATS as FEEDBACK_FORMATS
from grader.reports.feedback import feedback_name, write_feedback
from grader.reports.gradescope import write_gradescope
from grader.reports.table import print_table

__all__ = ["FEEDBACK_FORMATS", "STDOUT", "feedback_name", "print_table", "write_csv", "write_feedback",
           "write_gradescope", "write_json"]
