#!/usr/bin/env python3
"""Print the import picture of the compiler and the harness: which subpackage imports which
(function-level imports included, as import-linter sees them), then the pairs of sibling
modules inside a subpackage that import each other (cycles).

    python ci/import_graph.py
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import grimp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing


def main() -> None:
    graph = grimp.build_graph('da4ml_core', 'verif', include_external_packages=False)

    def package(module: str) -> str:
        return '.'.join(module.split('.')[:2])

    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if package(module) != package(imported):
                edges.setdefault(package(module), set()).add(package(imported))
    for source in sorted(edges):
        print(f'{source:28s} -> {", ".join(sorted(edges[source]))}')
    print('\nsibling modules importing each other (directly or through others):')
    for pkg in sorted({package(m) for m in graph.modules}):
        children = sorted(m for m in graph.modules if m.startswith(pkg + '.') and m.count('.') == pkg.count('.') + 1)
        for a, b in itertools.combinations(children, 2):
            if graph.chain_exists(a, b) and graph.chain_exists(b, a):
                print(f'  {a} <-> {b}')


if __name__ == '__main__':
    main()
