from gevent import monkey

monkey.patch_all()

from restreamer.main import main  # noqa: E402

main()
