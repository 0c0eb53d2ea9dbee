// Open MPI's <mpi.h> plus what Swift cannot import from it.
//
// Open MPI spells its predefined handles (MPI_COMM_WORLD, MPI_DOUBLE, MPI_ERRORS_RETURN, …) as
// cast-of-address macros, and some limits as macros of macros. Swift imports neither, so each is
// exposed here as a `static inline` function prefixed `cmpi_`; the compiler inlines them into the
// Swift caller, so using one costs what the macro costs in C. Handles are the addresses of Open
// MPI's predefined objects, never NULL, and are marked so: Swift sees them as non-optional.
#ifndef CMPI_SHIM_H
#define CMPI_SHIM_H

#include <mpi.h>
// Open MPI's extensions: `MPIX_*_init`, the persistent collectives of MPI-4 (the `pcollreq`
// extension of Open MPI 4.1).
#include <mpi-ext.h>

// Communicators, error handlers and requests.
static inline MPI_Comm _Nonnull cmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm _Nonnull cmpi_comm_self(void) { return MPI_COMM_SELF; }
static inline MPI_Comm _Nonnull cmpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Errhandler _Nonnull cmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Info _Nonnull cmpi_info_null(void) { return MPI_INFO_NULL; }
static inline MPI_Status *_Nullable cmpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Request _Nonnull cmpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Group _Nonnull cmpi_group_empty(void) { return MPI_GROUP_EMPTY; }

// Predefined datatypes.
static inline MPI_Datatype _Nonnull cmpi_datatype_null(void) { return MPI_DATATYPE_NULL; }
static inline MPI_Datatype _Nonnull cmpi_int8(void) { return MPI_INT8_T; }
static inline MPI_Datatype _Nonnull cmpi_int16(void) { return MPI_INT16_T; }
static inline MPI_Datatype _Nonnull cmpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype _Nonnull cmpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype _Nonnull cmpi_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Datatype _Nonnull cmpi_uint16(void) { return MPI_UINT16_T; }
static inline MPI_Datatype _Nonnull cmpi_uint32(void) { return MPI_UINT32_T; }
static inline MPI_Datatype _Nonnull cmpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype _Nonnull cmpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype _Nonnull cmpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype _Nonnull cmpi_c_bool(void) { return MPI_C_BOOL; }
static inline MPI_Datatype _Nonnull cmpi_byte(void) { return MPI_BYTE; }

// Collective arguments: the in-place marker and the predefined reduction operations.
static inline void *_Nonnull cmpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Op _Nonnull cmpi_op_sum(void) { return MPI_SUM; }
static inline MPI_Op _Nonnull cmpi_op_prod(void) { return MPI_PROD; }
static inline MPI_Op _Nonnull cmpi_op_min(void) { return MPI_MIN; }
static inline MPI_Op _Nonnull cmpi_op_max(void) { return MPI_MAX; }
static inline MPI_Op _Nonnull cmpi_op_land(void) { return MPI_LAND; }
static inline MPI_Op _Nonnull cmpi_op_lor(void) { return MPI_LOR; }
static inline MPI_Op _Nonnull cmpi_op_lxor(void) { return MPI_LXOR; }
static inline MPI_Op _Nonnull cmpi_op_band(void) { return MPI_BAND; }
static inline MPI_Op _Nonnull cmpi_op_bor(void) { return MPI_BOR; }
static inline MPI_Op _Nonnull cmpi_op_bxor(void) { return MPI_BXOR; }
// The accumulate-only operations of one-sided communication.
static inline MPI_Op _Nonnull cmpi_op_replace(void) { return MPI_REPLACE; }
static inline MPI_Op _Nonnull cmpi_op_no_op(void) { return MPI_NO_OP; }

// Limits defined through other macros.
static inline int cmpi_max_processor_name(void) { return MPI_MAX_PROCESSOR_NAME; }
static inline int cmpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int cmpi_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }

#endif
