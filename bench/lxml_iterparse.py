"""Reference: Python lxml iterparse over the whole file, clearing elements as it goes (flat memory)."""
import sys
from lxml import etree

count = 0
for _event, element in etree.iterparse(sys.argv[1], events=("end",), huge_tree=True, resolve_entities=False):
    count += 1
    element.clear()
    while element.getprevious() is not None:
        del element.getparent()[0]
print(count, file=sys.stderr)
