# cmake -DIN=FILE -DOUT=FILE -P raw_string.cmake: writes FILE's contents as one C++ raw string literal, for
# #include inside an expression. Fails if the contents hold the literal's closing delimiter.
file(READ ${IN} contents)
string(FIND "${contents}" ")RKEMBED\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw string delimiter )RKEMBED\"")
endif()
file(WRITE ${OUT}.tmp "R\"RKEMBED(${contents})RKEMBED\"\n")
file(RENAME ${OUT}.tmp ${OUT})
