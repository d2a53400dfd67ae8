// placeholder so the module library has a translation unit
