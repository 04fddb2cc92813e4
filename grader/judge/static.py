"""Checks of the student's source text, made before any of it runs."""
from __future__ import annotations

import ast


def source_problems(source: str, exercise) -> list[str]:
    """What makes the file unusable: a syntax error, a forbidden import or a forbidden name."""
    filename = exercise.student_file
    try:
        tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError) as error:  # a NUL byte is a ValueError in some versions
        line = f", line {error.lineno}" if getattr(error, "lineno", None) else ""
        return [f"{filename}{line}: {getattr(error, 'msg', None) or error}"]
    forbidden_modules, forbidden_names = set(exercise.forbidden_imports), set(exercise.forbidden_names)
    problems = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            modules = [node.value]  # __import__("torch"), importlib.import_module("torch"), getattr(F, "...")
        else:
            modules = []
        for module in modules:
            if module.split(".")[0] in forbidden_modules:
                problems.append(f"{filename}, line {line}: {module} is not allowed in this exercise")
            if module in forbidden_names:
                problems.append(f"{filename}, line {line}: {module} is not allowed in this exercise")
        # a Name, an Attribute, or what an import brings in: `from m import name as other` is caught at the import
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) \
            else node.name.rpartition(".")[2] if isinstance(node, ast.alias) else None
        if name in forbidden_names:
            problems.append(f"{filename}, line {line}: {name} is not allowed in this exercise")
    return problems
