import sys

from .origin import main

sys.exit(main())
