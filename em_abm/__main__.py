import sys

from em_abm.cli import main

sys.exit(main())
