from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from .main import main  # noqa: E402

sys.exit(main())
