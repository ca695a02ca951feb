from gevent import monkey

monkey.patch_all()

from editor.main import main  # noqa: E402

main()
