import sys

from sentinel.entry import main

sys.argv[0] = "sentinel"
main()
