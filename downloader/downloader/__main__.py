from gevent import monkey

monkey.patch_all()

from downloader.main import main  # noqa: E402

main()
